//! Email intake: a forwarded email becomes a letter. `parse` reads the request out of the message,
//! `authenticate` decides whether its sender may ask, `receive` is the pipeline every channel shares, and
//! `answer` writes the replies.

pub mod answer;
pub mod authenticate;
pub mod parse;
pub mod receive;
pub mod sink;
