//! The `server` binary: `serve` (default), `migrate`, `create-admin`, `openapi`, `seed`.

use clap::Parser as _;
use domain::{ClientInfo, PasswordHasher as _, PlaintextPassword, SignUp};
use secrecy::ExposeSecret as _;
use server::app::{bootstrap_admin, wire};
use server::{Application, Cli, Command, Config, StartError, shutdown_signal};
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

// mimalloc instead of glibc's malloc: requests allocate and free many small objects across the
// worker threads, sqlx's SQLite threads and the blocking pool, and glibc's malloc and free were
// about a sixth of a request's CPU in perf (see bench/README.md for the figures).
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
        Command::Migrate => {
            let validated = cli
                .config
                .validate()
                .map_err(|problems| problems.join("\n"))?;
            wire(&cli.config, &validated).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::CreateAdmin { email, full_name } => {
            create_admin(&cli.config, email, full_name).await
        }
        Command::Seed { users } => seed(&cli.config, users).await,
    }
}

async fn serve(config: &Config) -> Result<(), StartError> {
    let application = Application::build(config).await?;
    let address = application.address();
    tracing::info!("listening on http://{address}");
    println!("listening on http://{address}");
    application.run_until(shutdown_signal()).await?;
    Ok(())
}

async fn create_admin(config: &Config, email: String, full_name: String) -> Result<(), StartError> {
    let validated = config.validate().map_err(|problems| problems.join("\n"))?;
    let services = wire(config, &validated).await?;
    let password = match &config.admin_password {
        Some(password) => password.expose_secret().to_owned(),
        None => rpassword::prompt_password("Password for the new admin: ")?,
    };
    let input = SignUp {
        email,
        password: PlaintextPassword::new(password),
        full_name,
    };
    let admin = services
        .admin
        .create_admin(input, &ClientInfo::default())
        .await
        .map_err(|error| match error {
            domain::SignUpError::Invalid(errors) => format!("invalid admin: {errors}"),
            domain::SignUpError::EmailTaken => {
                "an account with this email already exists".to_owned()
            }
            domain::SignUpError::Unexpected(error) => error.to_string(),
        })?;
    println!("created admin {} ({})", admin.email(), admin.id());
    Ok(())
}

async fn seed(config: &Config, users: u64) -> Result<(), StartError> {
    let validated = config.validate().map_err(|problems| problems.join("\n"))?;
    let services = wire(config, &validated).await?;
    bootstrap_admin(config, &services).await?;
    let password =
        std::env::var("SEED_PASSWORD").unwrap_or_else(|_| "demo-password-1234".to_owned());
    // One hash for every seeded user: hashing a million passwords would take hours.
    let hash = services
        .hasher
        .hash(&PlaintextPassword::new(password))
        .await?;
    let started = std::time::Instant::now();
    let inserted = infra_postgres::seed_users(&services.database, users, &hash, |done| {
        if done % 100_000 == 0 || done == users {
            eprintln!("seeded {done}/{users}");
        }
    })
    .await?;
    println!(
        "inserted {inserted} users in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
