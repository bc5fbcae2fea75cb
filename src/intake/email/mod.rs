//! Email intake: a forwarded email becomes a letter. `authenticate` decides whether its sender may ask.

pub mod authenticate;
