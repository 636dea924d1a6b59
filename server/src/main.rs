#![recursion_limit = "512"]
//! `sightline`: one binary for the web server and the command-line tools.
mod alerts_cli;

use clap::{CommandFactory, FromArgMatches, Subcommand};
use sightline_server::{
    commands,
    config::{Cli, Command, LogFormat, UserCommand},
    startup::Application,
    telemetry,
};
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    // `alerts` (the standalone alert runner) is declared next to its code and joined to the
    // shared command line here.
    let matches = alerts_cli::Alerts::augment_subcommands(Cli::command()).get_matches();
    let log_format = matches
        .get_one::<LogFormat>("log_format")
        .copied()
        .unwrap_or(LogFormat::Text);
    telemetry::init(log_format);
    let result = match matches.subcommand_name() {
        Some(name) if alerts_cli::Alerts::has_subcommand(name) => {
            match alerts_cli::Alerts::from_arg_matches(&matches) {
                Ok(alerts) => alerts_cli::run(alerts).await,
                Err(e) => e.exit(),
            }
        }
        _ => match Cli::from_arg_matches(&matches) {
            Ok(cli) => run(cli).await,
            Err(e) => e.exit(),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line on stderr; stdout stays clean for piped output.
            eprintln!("error: {}", format!("{e:#}").replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Worker(args) => sightline_server::startup::run_worker(args).await,
        Command::Migrate(store) => commands::migrate(&store).await,
        Command::Query(args) => sightline_server::query_cli::run(args).await,
        Command::User {
            command: UserCommand::Create {
                email, role, store, ..
            },
        } => match commands::read_password_stdin() {
            Ok(pw) => commands::create_user(&store, &email, role, pw).await,
            Err(e) => Err(e),
        },
        Command::User {
            command: UserCommand::ResetPassword { email, store, .. },
        } => match commands::read_password_stdin() {
            Ok(pw) => commands::reset_password(&store, &email, pw).await,
            Err(e) => Err(e),
        },
    }
}

async fn serve(args: sightline_server::config::ServeArgs) -> anyhow::Result<()> {
    let app = Application::build(args).await?;
    tracing::info!(addr = %app.addr, "Sightline is listening on http://{}", app.addr);
    if let Some(url) = &app.setup_url {
        // The token stays out of the log (log shippers, shared log readers); stdout only.
        tracing::warn!(
            "No account exists yet: open the one-time setup link printed on standard output"
        );
        println!("\n  Sightline has no account yet. Create the first admin here (one-time link):\n\n    {url}\n");
    }
    app.run_until_stopped().await
}
