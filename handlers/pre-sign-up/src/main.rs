#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    handler_common::run_trigger(pre_sign_up::Rules::from_env, pre_sign_up::handle).await
}
