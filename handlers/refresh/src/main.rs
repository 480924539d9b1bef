#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    handler_common::run(refresh::Refresh::from_env, refresh::handle).await
}
