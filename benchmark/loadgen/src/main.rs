//! `loadgen`: a WebSocket / GraphQL-subscription load generator for subwire's benchmarks.
//! One mio event loop holds up to 19,000 clients in one process; a Node runner drives
//! several processes through stdin commands and reads one JSON object per stdout line.
//! See `--help` (args.rs) and benchmark/README.md.

mod args;
mod client;
mod control;
mod driver;
mod proto;
mod stats;
mod ws;

use serde_json::json;

fn main() {
    let cfg = match args::Config::parse(std::env::args().skip(1)) {
        Ok(c) => c,
        Err(e) if e.is_empty() => {
            println!("{}", args::USAGE);
            return;
        }
        Err(e) => {
            control::emit(&json!({ "event": "error", "message": e }));
            eprintln!("loadgen: {e}\n{}", args::USAGE);
            std::process::exit(2);
        }
    };
    let code = match driver::Driver::new(cfg).and_then(driver::Driver::run) {
        Ok(code) => code,
        Err(e) => {
            control::emit(&json!({ "event": "error", "message": format!("event loop: {e}") }));
            1
        }
    };
    // Exit at once: the stdin thread may still be blocked in read.
    std::process::exit(code);
}
