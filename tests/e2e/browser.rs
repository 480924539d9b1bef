//! The example page (`examples/web`) in a real browser: headless Chromium opens it from one
//! origin and calls `serve` on another, which `api.cors` allows. The whole flow works, `GET
//! /secret` without a token reads as 401 (not a network error), and the same page from an origin
//! not in the list can read no answer at all. A screenshot of the signed-in page is kept in
//! `target/browser/signed-in.png`.
//!
//! Chromium is installed by `scripts/test` (Debian's `chromium`) when missing.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::serve::Served;
use crate::support;

/// A static file server for `dir` on 127.0.0.1 (Python's), stopped when dropped.
struct Site {
    child: Child,
    origin: String,
}

impl Site {
    fn start(dir: &Path) -> Site {
        let mut child = Command::new("python3")
            .args([
                "-u",
                "-m",
                "http.server",
                "0",
                "--bind",
                "127.0.0.1",
                "--directory",
            ])
            .arg(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start python3 -m http.server");
        let mut line = String::new();
        let _ = child
            .stdout
            .take()
            .map(|out| BufReader::new(out).read_line(&mut line));
        // `Serving HTTP on 127.0.0.1 port 38331 (http://127.0.0.1:38331/) ...`
        let port = line
            .split("port ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .map(str::to_owned);
        let Some(port) = port else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("http.server said {line:?}");
        };
        Site {
            child,
            origin: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Chromium binary: `PROVISIONER_CHROMIUM`, else `chromium` or `chromium-browser` on PATH.
fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("PROVISIONER_CHROMIUM") {
        return PathBuf::from(path);
    }
    for name in ["chromium", "chromium-browser"] {
        let found = std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(name))
                .find(|candidate| candidate.is_file())
        });
        if let Some(found) = found {
            return found;
        }
    }
    panic!(
        "no Chromium for the browser test: `scripts/test` installs Debian's `chromium` (as root), or set PROVISIONER_CHROMIUM"
    );
}

/// Headless Chromium on `url` with `args`, for at most a minute; its stdout.
fn headless(url: &str, args: &[&str]) -> String {
    let profile = support::temp_dir("chromium");
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--virtual-time-budget=20000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let mut out = String::new();
    let reader = child.stdout.take().map(|stdout| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut BufReader::new(stdout), &mut text);
            text
        })
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().ok().flatten().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within a minute on {url}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if let Some(reader) = reader {
        out = reader.join().unwrap_or_default();
    }
    out
}

/// The page's results (each step's status and body), from the DOM Chromium dumped.
fn results(dom: &str) -> Vec<Value> {
    let start = dom
        .find(r#"<pre id="results""#)
        .and_then(|at| dom[at..].find('>').map(|end| at + end + 1))
        .unwrap_or_else(|| panic!("the page wrote no results: {dom}"));
    let end = start + dom[start..].find("</pre>").expect("the results end");
    let text = dom[start..end]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("results are not JSON ({err}): {text}"))
}

fn step<'a>(results: &'a [Value], name: &str) -> &'a Value {
    results
        .iter()
        .find(|r| r["step"] == name)
        .unwrap_or_else(|| panic!("no step `{name}` in {results:?}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_example_page_runs_the_flow_in_chromium_and_an_unlisted_origin_reads_nothing() {
    // The page's own copy, with the outputs file serve writes beside it.
    let page = support::temp_dir("web");
    for file in ["index.html", "app.js"] {
        std::fs::copy(
            support::repo_root().join("examples/web").join(file),
            page.join(file),
        )
        .unwrap();
    }
    let site = Site::start(&page);
    let stranger = Site::start(&page);
    let stack = support::unique("browser");
    let file = support::write_stack(&[(
        "allowOrigins: [http://localhost:8000]",
        &format!("allowOrigins: [{}]", site.origin),
    )]);
    let up = support::on_emulator(&file, &stack, &["up", "--yes"]);
    assert_eq!(up.code, Some(0), "{}", up.stderr);
    let outputs = page.join("outputs.json");
    let serve = tokio::task::spawn_blocking({
        let (file, stack, outputs) = (file.clone(), stack.clone(), outputs.clone());
        move || {
            Served::start_with(
                &file,
                &stack,
                &["--outputs", outputs.to_str().unwrap()],
                &[],
            )
        }
    })
    .await
    .unwrap();
    let (site_origin, stranger_origin) = (site.origin.clone(), stranger.origin.clone());
    let log = tokio::task::spawn_blocking(move || {
        let user = support::unique("ada");
        let query = |user: &str| {
            format!("auto=1&username={user}&email={user}%40example.com&password=Passw0rd%21x&code=123456")
        };
        let flow = results(&headless(
            &format!("{site_origin}/index.html?{}", query(&user)),
            &["--dump-dom"],
        ));
        assert_eq!(step(&flow, "sign up")["status"], 200, "{flow:?}");
        assert_eq!(step(&flow, "confirm")["status"], 200, "{flow:?}");
        assert_eq!(step(&flow, "sign in")["status"], 200, "{flow:?}");
        let secret = step(&flow, "secret");
        assert_eq!(secret["status"], 200, "{flow:?}");
        assert_eq!(secret["body"]["username"], user.as_str());
        // Signed out, the authorizer's 401 reaches the page as a 401, not as a network error.
        assert_eq!(step(&flow, "secret (signed out)")["status"], 401, "{flow:?}");

        // From an origin not in the list: the page loads, but no answer of the API is readable.
        let other = support::unique("eve");
        let refused = results(&headless(
            &format!("{stranger_origin}/index.html?{}", query(&other)),
            &["--dump-dom"],
        ));
        for name in ["sign up", "confirm", "sign in", "secret (signed out)"] {
            assert_eq!(step(&refused, name)["status"], "network error", "{refused:?}");
        }

        // The signed-in page, kept for people to look at.
        let dir = support::repo_root().join("target/browser");
        std::fs::create_dir_all(&dir).unwrap();
        let shot = dir.join("signed-in.png");
        let _ = std::fs::remove_file(&shot);
        let signed_in = support::unique("grace");
        headless(
            &format!("{site_origin}/index.html?{}&until=secret", query(&signed_in)),
            &[
                &format!("--screenshot={}", shot.display()),
                "--window-size=1000,900",
            ],
        );
        assert!(
            std::fs::metadata(&shot).is_ok_and(|m| m.len() > 1000),
            "no screenshot at {}",
            shot.display()
        );
    })
    .await;
    drop(serve);
    let down = support::on_emulator(&file, &stack, &["down", "--yes", "--delete-data"]);
    assert_eq!(down.code, Some(0), "{}", down.stderr);
    if let Err(panic) = log {
        std::panic::resume_unwind(panic.into_panic());
    }
}
