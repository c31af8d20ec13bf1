// Prints what Rust's std::thread::available_parallelism() reports: under a
// cgroup v2 cpu.max quota it is the quota rounded up (the vm lane checks 1
// under `supervise --cpus 1`).
fn main() {
    match std::thread::available_parallelism() {
        Ok(n) => println!("available_parallelism={}", n),
        Err(e) => {
            eprintln!("available_parallelism failed: {}", e);
            std::process::exit(1);
        }
    }
}
