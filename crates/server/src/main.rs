//! The `server` binary: `serve` (default), `migrate`, `create-admin`, `openapi`, `seed`.

use clap::Parser as _;
use server::{Application, Cli, Command, Config, StartError, commands, shutdown_signal};
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

// mimalloc instead of glibc's malloc: requests allocate and free many small objects across the
// worker threads, sqlx's SQLite threads and the blocking pool, and glibc's malloc and free were
// about a sixth of a request's CPU in perf (docs/decisions/0003-mimalloc.md has the A/B).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    // A missing .env is the normal case; a malformed one is reported by the settings it breaks.
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            for line in error.to_string().lines() {
                eprintln!("error: {line}");
            }
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), StartError> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(&cli.config).await,
        Command::Openapi => {
            println!("{}", api_http::openapi().to_pretty_json()?);
            Ok(())
        }
        Command::Migrate => commands::migrate(&cli.config).await,
        Command::CreateAdmin { email, full_name } => {
            commands::create_admin(&cli.config, email, full_name).await
        }
        Command::Seed { users, password } => commands::seed(&cli.config, users, password).await,
    }
}

async fn serve(config: &Config) -> Result<(), StartError> {
    let application = Application::build(config).await?;
    // One line on standard output, whatever RUST_LOG says: scripts and tests wait for it.
    println!("listening on http://{}", application.address());
    application.run_until(shutdown_signal()).await?;
    Ok(())
}
