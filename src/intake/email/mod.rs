//! Email intake: a forwarded email becomes a letter. `parse` reads the request out of the message,
//! `authenticate` decides whether its sender may ask, `receive` is the pipeline every channel shares, and
//! `answer` writes the replies; `smtp` is relais's own SMTP/LMTP receiver, one of the channels.

pub mod answer;
pub mod authenticate;
pub mod parse;
pub mod receive;
pub mod sink;
pub mod smtp;
