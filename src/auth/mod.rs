//! Who is calling, and what they may touch: every scope rule of the API lives here.

mod caller;
pub mod password;
pub mod token;

pub use caller::Caller;
