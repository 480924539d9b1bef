//! The AWS regions `provisioner` knows, so that a typo (`us-esat-1`) is refused before any call
//! instead of costing half a minute of DNS retries. Source: the SDK's partition metadata
//! (`partitions.json` in aws-sdk-rust's endpoint resolvers) and AWS's "Regions and Availability
//! Zones" list, as of 2026-11. A region AWS opens later can be used with
//! `PROVISIONER_ALLOW_UNKNOWN_REGION=1` until this list learns it.

/// Every region, with its partition.
pub const KNOWN_REGIONS: &[(&str, &str)] = &[
    ("af-south-1", "aws"),
    ("ap-east-1", "aws"),
    ("ap-east-2", "aws"),
    ("ap-northeast-1", "aws"),
    ("ap-northeast-2", "aws"),
    ("ap-northeast-3", "aws"),
    ("ap-south-1", "aws"),
    ("ap-south-2", "aws"),
    ("ap-southeast-1", "aws"),
    ("ap-southeast-2", "aws"),
    ("ap-southeast-3", "aws"),
    ("ap-southeast-4", "aws"),
    ("ap-southeast-5", "aws"),
    ("ap-southeast-6", "aws"),
    ("ap-southeast-7", "aws"),
    ("ca-central-1", "aws"),
    ("ca-west-1", "aws"),
    ("eu-central-1", "aws"),
    ("eu-central-2", "aws"),
    ("eu-north-1", "aws"),
    ("eu-south-1", "aws"),
    ("eu-south-2", "aws"),
    ("eu-west-1", "aws"),
    ("eu-west-2", "aws"),
    ("eu-west-3", "aws"),
    ("il-central-1", "aws"),
    ("me-central-1", "aws"),
    ("me-south-1", "aws"),
    ("mx-central-1", "aws"),
    ("sa-east-1", "aws"),
    ("us-east-1", "aws"),
    ("us-east-2", "aws"),
    ("us-west-1", "aws"),
    ("us-west-2", "aws"),
    ("cn-north-1", "aws-cn"),
    ("cn-northwest-1", "aws-cn"),
    ("us-gov-east-1", "aws-us-gov"),
    ("us-gov-west-1", "aws-us-gov"),
    ("us-iso-east-1", "aws-iso"),
    ("us-iso-west-1", "aws-iso"),
    ("us-isob-east-1", "aws-iso-b"),
    ("eusc-de-east-1", "aws-eusc"),
];

/// The environment variable that lets a region missing from [`KNOWN_REGIONS`] through.
pub const ALLOW_UNKNOWN_REGION: &str = "PROVISIONER_ALLOW_UNKNOWN_REGION";

pub fn is_known(region: &str) -> bool {
    KNOWN_REGIONS.iter().any(|(name, _)| *name == region)
}

/// The partition of a known region (`aws`, `aws-cn`, `aws-us-gov`, ...).
pub fn partition(region: &str) -> Option<&'static str> {
    KNOWN_REGIONS
        .iter()
        .find(|(name, _)| *name == region)
        .map(|(_, partition)| *partition)
}

/// The domain AWS's endpoints in `region` are under: `amazonaws.com.cn` in China
/// (`cn-` regions, also one not yet known here), `amazonaws.com` elsewhere.
pub fn dns_suffix(region: &str) -> &'static str {
    if partition(region) == Some("aws-cn") || region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    }
}

/// The known region closest to `given`, if one is close enough to be a likely typo.
pub fn closest(given: &str) -> Option<&'static str> {
    KNOWN_REGIONS
        .iter()
        .map(|(name, _)| (strsim::jaro_winkler(given, name), *name))
        .filter(|(score, _)| *score >= 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, name)| name)
}

/// The longest [`short_code`] of a known region (`usisobe1`, `euscdee1`).
pub const SHORT_CODE_MAX: usize = 8;
/// The shortest [`short_code`] of a known region (`use1`).
pub const SHORT_CODE_MIN: usize = 4;

/// A region's short code, as AWS's zone ids spell it (`use1-az1`): the area, then each direction
/// shortened (`north` -> `n`, `southeast` -> `se`), then the number: `us-east-1` -> `use1`,
/// `ap-southeast-2` -> `apse2`. Other words stay whole (`us-gov-west-1` -> `usgovw1`), so two
/// regions never share a code. It puts the region into names that IAM, a global service, must
/// keep apart per region (a function's role).
pub fn short_code(region: &str) -> String {
    region
        .split('-')
        .map(|part| match part {
            "north" => "n",
            "south" => "s",
            "east" => "e",
            "west" => "w",
            "central" => "c",
            "northeast" => "ne",
            "northwest" => "nw",
            "southeast" => "se",
            "southwest" => "sw",
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_codes_are_aws_zone_id_prefixes_and_unique() {
        assert_eq!(short_code("us-east-1"), "use1");
        assert_eq!(short_code("eu-west-1"), "euw1");
        assert_eq!(short_code("ap-southeast-2"), "apse2");
        assert_eq!(short_code("cn-northwest-1"), "cnnw1");
        assert_eq!(short_code("us-gov-west-1"), "usgovw1");
        let codes: std::collections::BTreeSet<String> = KNOWN_REGIONS
            .iter()
            .map(|(name, _)| short_code(name))
            .collect();
        assert_eq!(codes.len(), KNOWN_REGIONS.len(), "{codes:?}");
        let longest = codes.iter().map(String::len).max();
        assert_eq!(longest, Some(SHORT_CODE_MAX));
        assert_eq!(codes.iter().map(String::len).min(), Some(SHORT_CODE_MIN));
    }

    #[test]
    fn typos_point_at_the_region_meant() {
        assert!(is_known("us-east-1") && is_known("cn-north-1"));
        assert!(!is_known("us-esat-1"));
        assert_eq!(closest("us-esat-1"), Some("us-east-1"));
        assert_eq!(closest("eu-west-11"), Some("eu-west-1"));
        assert_eq!(closest("mars-1"), None);
    }
}
