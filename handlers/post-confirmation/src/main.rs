#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    handler_common::run_trigger(post_confirmation::Ctx::from_env, post_confirmation::handle).await
}
