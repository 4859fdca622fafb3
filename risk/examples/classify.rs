//! `cargo run --release -p healing-risk --example classify < posts.jsonl > pred.jsonl`
//! With an argument, prints `risk eval FILE` metrics instead.
fn main() -> std::io::Result<()> {
    if let Some(path) = std::env::args().nth(1) {
        match healing_risk::cli::eval_file(std::path::Path::new(&path)) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(2);
            }
        }
        return Ok(());
    }
    healing_risk::cli::classify(std::io::stdin().lock(), std::io::stdout().lock())
}
