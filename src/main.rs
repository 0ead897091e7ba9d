fn main() {
    println!("convlab");
}
