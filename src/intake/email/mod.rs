//! Email intake: a forwarded email becomes a letter. `parse` reads the request out of the message,
//! `authenticate` decides whether its sender may ask, `receive` is the pipeline every channel shares, and
//! `answer` writes the replies, `accepted` sends the one for a letter made once it is rendered. The channels: `smtp` (relais's own SMTP/LMTP receiver) and `imap` (mailboxes
//! it watches); raw MIME over HTTP is a route in `http`.

pub mod accepted;
pub mod answer;
pub mod authenticate;
pub mod choose;
pub mod confirm;
pub mod drafts;
pub mod imap;
pub mod parse;
pub mod receive;
pub mod sink;
pub mod smtp;
