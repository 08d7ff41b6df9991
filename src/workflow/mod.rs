//! Workflows: what each command does, as library calls with typed options, returning
//! reports and sending events; commands only parse, call one workflow and render.

mod scan;

pub use scan::scan_paths;
