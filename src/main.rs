//! The `ntc` binary: parses arguments, dispatches to a subcommand, turns
//! errors into one line on stderr and an exit code (2 bad input, 3 drift
//! found by `report --fail-on-drift`, 1 other).

mod cmd;

use clap::Parser;

fn main() {
    let cli = cmd::Cli::parse();
    ntc::io::clean_up_on_signals();
    if let Err(e) = cmd::run(cli) {
        if ntc::io::is_broken_pipe(&e) {
            // `ntc predict ... | head`: the reader left, nothing went wrong.
            std::process::exit(0);
        }
        match &e {
            ntc::Error::Input(msg) | ntc::Error::Drift(msg) => eprintln!("ntc: {msg}"),
            ntc::Error::Other(err) => eprintln!("ntc: {err:#}"),
        }
        std::process::exit(e.exit_code());
    }
}
