//! The one-shot subcommands: `migrate`, `create-admin` and `seed`. Each wires the same
//! services as `serve` (which applies pending migrations), does its one job and returns.

use crate::app::{bootstrap_admin, wire};
use crate::{Config, StartError};
use domain::{ClientInfo, PasswordHasher as _, PlaintextPassword, SignUp, SignUpError};
use secrecy::ExposeSecret as _;

/// `server migrate`: applies pending migrations (wiring does) and exits.
///
/// # Errors
/// Bad configuration, or a database that cannot be reached or migrated.
pub async fn migrate(config: &Config) -> Result<(), StartError> {
    let validated = config.validate().map_err(|problems| problems.join("\n"))?;
    wire(config, &validated).await?;
    println!("migrations applied");
    Ok(())
}

/// `server create-admin`: creates an administrator, with the password from `ADMIN_PASSWORD` or
/// a prompt that does not echo.
///
/// # Errors
/// Bad configuration, an invalid or taken email, a weak password, or a database failure.
pub async fn create_admin(
    config: &Config,
    email: String,
    full_name: String,
) -> Result<(), StartError> {
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
            SignUpError::Invalid(errors) => format!("invalid admin: {errors}"),
            SignUpError::EmailTaken => "an account with this email already exists".to_owned(),
            SignUpError::Unexpected(error) => error.to_string(),
        })?;
    println!("created admin {} ({})", admin.email(), admin.id());
    Ok(())
}

/// `server seed`: inserts `users` demo users, all with `password` (hashed once: hashing a
/// million passwords would take hours), and the admin of `ADMIN_EMAIL` if set.
///
/// # Errors
/// Bad configuration or a database failure (nothing is inserted then).
pub async fn seed(config: &Config, users: u64, password: String) -> Result<(), StartError> {
    let validated = config.validate().map_err(|problems| problems.join("\n"))?;
    let services = wire(config, &validated).await?;
    bootstrap_admin(config, &services).await?;
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
