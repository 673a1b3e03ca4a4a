//! Tests of the engine as a whole: the reference samples and properties on random markets.

mod bundles;
mod fixtures;
mod properties;
