//! The `idgate` command.

#[tokio::main]
async fn main() {
    let code = idgate::main_entry().await;
    std::process::exit(code);
}
