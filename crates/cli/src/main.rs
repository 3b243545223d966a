//! `sealpost`: the agent side of Sealpost / LinkAuth.
//!
//! `request` asks a person for a credential through a broker: the secret is
//! encrypted in their browser to a key that only exists in this process, and
//! is delivered on stdout or straight into a command's environment.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod allow;
mod broker;
mod common;
mod errors;
mod identity;
mod jwt;
mod keyfile;
mod open;
mod output;
mod poll;
mod request;
mod session;
mod signals;
mod timefmt;
mod ui;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

const ABOUT: &str = "Ask a person for a credential, end-to-end encrypted to this process (LinkAuth v1 agent)";

const LONG_ABOUT: &str = "\
Ask a person for a credential, end-to-end encrypted to this process.

sealpost generates an RSA key in memory, opens a session on a Sealpost or
LinkAuth broker and prints a link, a code and the key's fingerprint on stderr.
The person opens the link, checks the code and the fingerprint, and types the
secret; their browser encrypts it to the key. The broker only ever sees
ciphertext. sealpost then prints the credentials on stdout or runs a command
with them as environment variables, so they need not touch disk, shell
history or argv.";

const EXAMPLES: &str = "\
Examples:
  sealpost request --broker https://broker.example --template openai --env-prefix OPENAI_ --exec -- ./agent.py
  sealpost request --broker https://broker.example --field token:GitHub token --format raw token
  sealpost open --key-file agent.pem < ciphertext.txt

Run `sealpost help <command>` for each command's options and examples.";

#[derive(Parser, Debug)]
#[command(name = "sealpost", version, about = ABOUT, long_about = LONG_ABOUT, propagate_version = true,
    after_help = EXAMPLES, after_long_help = format!("{EXAMPLES}\n\n{}", errors::EXIT_CODES_HELP))]
struct Cli {
    #[command(subcommand)]
    command: Commands,
}

/// Subcommands. The JWT tools add a `Jwt(jwt::JwtArgs)` variant here and a
/// match arm in `main` returning a `std::process::ExitCode`.
#[derive(Subcommand, Debug)]
enum Commands {
    /// Ask a person for a credential and wait for it
    Request(request::RequestArgs),
    /// Collect the answer of a session created with `request --no-wait`
    Poll(poll::PollArgs),
    /// Open a saved envelope with a saved private key
    Open(open::OpenArgs),
    /// Decode, inspect, verify and sign JWTs (offline, every problem in one pass)
    Jwt(jwt::JwtArgs),
}

fn report(result: Result<ExitCode, errors::CliError>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(e) => {
            // erase a spinner line if one is showing
            if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
                eprint!("\r\x1b[2K");
            }
            // the last guard: whatever remote text a message carries reaches the terminal escaped
            eprintln!("sealpost: error: {} [{}]", errors::terminal_safe(&e.to_string()), e.code());
            ExitCode::from(e.exit_code())
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    signals::install();
    match cli.command {
        Commands::Request(args) => report(request::run(args)),
        Commands::Poll(args) => report(poll::run(args)),
        Commands::Open(args) => report(open::run(args)),
        Commands::Jwt(args) => jwt::run(args),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn clap_definition_is_valid() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
