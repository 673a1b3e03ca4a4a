//! The migrations are built into the binary (`embed_migrations!`): a new or changed one
//! must rebuild it.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
