#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    handler_common::run(handler_common::Ctx::from_env, forgot_password::handle).await
}
