//! `sightline alerts run|validate`: the command line of the standalone alert runner
//! (`app::server::alerts::standalone`, which runs the server's own alert cycle over a YAML or
//! JSON file and a SQLite state file). This file keeps the arguments, the printing of
//! `validate`, and the signals that stop `run`.
use anyhow::{anyhow, bail, Result};
use app::server::alerts::{
    file_config::load,
    standalone::{plural, Runner, Stdio},
};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};

/// `sightline alerts …`, joined to the main command line in `main.rs`.
#[derive(Subcommand, Debug)]
pub enum Alerts {
    /// Run alerts from a YAML or JSON file without the web server (see alerts.example.yaml).
    Alerts {
        #[command(subcommand)]
        command: AlertsCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum AlertsCommand {
    /// Run the alerts on their cron schedules until Ctrl-C or SIGTERM (or once, with --once).
    Run(RunArgs),
    /// Check the file: syntax, fields, ${VAR} references, schedules, connections, channels.
    /// Nothing is connected to and no state is written.
    Validate(ConfigArg),
}

#[derive(Args, Debug)]
pub struct ConfigArg {
    /// The alerts file (.yaml, .yml or .json).
    #[arg(long, short = 'c', env = "SIGHTLINE_ALERTS_CONFIG")]
    pub config: PathBuf,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Evaluate every alert once now (schedules ignored), deliver, and exit.
    #[arg(long)]
    pub once: bool,
    /// The state file; overrides `state:` in the config (default: next to the config file).
    #[arg(long, env = "SIGHTLINE_ALERTS_STATE")]
    pub state: Option<PathBuf>,
}

/// Runs `sightline alerts …`.
pub async fn run(cmd: Alerts) -> Result<()> {
    let Alerts::Alerts { command } = cmd;
    match command {
        AlertsCommand::Validate(args) => validate(&args.config),
        AlertsCommand::Run(args) => {
            let config = load(&args.config.config).map_err(|e| anyhow!("{}", e.one_line()))?;
            let state = args.state.unwrap_or_else(|| config.state_path.clone());
            let runner = Runner::start(config, &state, &Stdio).await?;
            let result = if args.once {
                runner.run_once().await
            } else {
                runner.run_forever(shutdown_signal()).await
            };
            runner.close().await;
            result
        }
    }
}

fn validate(path: &Path) -> Result<()> {
    match load(path) {
        Ok(c) => {
            println!(
                "{}: valid ({}, {}, {})",
                path.display(),
                plural(c.alerts.len(), "alert"),
                plural(c.channels.len(), "channel"),
                plural(c.connections.len(), "connection"),
            );
            Ok(())
        }
        Err(e) => {
            for problem in &e.0 {
                eprintln!("{problem}");
            }
            bail!(
                "{} is not valid ({})",
                path.display(),
                plural(e.0.len(), "problem")
            )
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
