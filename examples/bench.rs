//! Until `convlab bench` is wired: `cargo run --release --example bench -- [--threads T] [--json] [--quick] [--ops-only]`.
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let threads = args
        .iter()
        .position(|a| a == "--threads")
        .and_then(|i| args.get(i + 1))
        .and_then(|t| t.parse().ok())
        .unwrap_or(2);
    let json = args.iter().any(|a| a == "--json");
    let quick = args.iter().any(|a| a == "--quick");
    if let Some(i) = args.iter().position(|a| a == "--model") {
        let r = convlab::bench::bench_model(&args[i + 1], threads, quick).unwrap();
        println!("{r:?}");
        return;
    }
    if args.iter().any(|a| a == "--ops-only") {
        for i in 0..7 {
            println!("{:?}", convlab::bench::bench_op(i, quick).unwrap());
        }
        return;
    }
    if let Err(e) = convlab::bench::run(threads, json, quick) {
        eprintln!("{e}");
        std::process::exit(1);
    }
}
