//! The few DER pieces RFC 3161 needs: encoding a TimeStampReq's parts, and walking a TimeStampResp.

/// Universal tags used here.
pub const INTEGER: u8 = 0x02;
pub const BOOLEAN: u8 = 0x01;
pub const OCTET_STRING: u8 = 0x04;
pub const NULL: u8 = 0x05;
pub const OID: u8 = 0x06;
pub const SEQUENCE: u8 = 0x30;
pub const SET: u8 = 0x31;
pub const GENERALIZED_TIME: u8 = 0x18;
/// `[0]` constructed, context-specific (EXPLICIT wrappers in CMS).
pub const CONTEXT_0: u8 = 0xa0;

/// One encoded element: tag, definite length, content.
pub fn encode(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// A non-negative INTEGER in its minimal encoding (a leading zero only before a high bit).
pub fn unsigned_integer(bytes: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
    let mut content = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_none_or(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend(trimmed);
    encode(INTEGER, &content)
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("malformed DER: {0}")]
pub struct DerError(pub &'static str);

/// Reads elements one after the other from a byte slice.
pub struct Reader<'a> {
    input: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(input: &'a [u8]) -> Self {
        Self { input }
    }

    pub fn is_empty(&self) -> bool {
        self.input.is_empty()
    }

    /// The next element: its tag and content.
    pub fn next(&mut self) -> Result<(u8, &'a [u8]), DerError> {
        let (&tag, rest) = self.input.split_first().ok_or(DerError("element expected, input ended"))?;
        let (&first, rest) = rest.split_first().ok_or(DerError("length expected"))?;
        let (len, rest) = if first < 0x80 {
            (first as usize, rest)
        } else {
            let n = (first & 0x7f) as usize;
            if n == 0 || n > 4 || rest.len() < n {
                return Err(DerError("unsupported length"));
            }
            let len = rest[..n].iter().fold(0usize, |acc, b| (acc << 8) | *b as usize);
            (len, &rest[n..])
        };
        if rest.len() < len {
            return Err(DerError("element longer than its input"));
        }
        let (content, rest) = rest.split_at(len);
        self.input = rest;
        if tag & 0x1f == 0x1f {
            return Err(DerError("multi-byte tags are not used here"));
        }
        Ok((tag, content))
    }

    /// The next element, which must carry `tag`; returns its content.
    pub fn expect(&mut self, tag: u8, what: &'static str) -> Result<&'a [u8], DerError> {
        match self.next()? {
            (t, content) if t == tag => Ok(content),
            _ => Err(DerError(what)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_minimal_and_never_negative() {
        assert_eq!(unsigned_integer(&[0, 0, 5]), [0x02, 1, 5]);
        assert_eq!(unsigned_integer(&[0x80]), [0x02, 2, 0, 0x80]);
        assert_eq!(unsigned_integer(&[]), [0x02, 1, 0]);
    }

    #[test]
    fn long_lengths_round_trip_through_the_reader() {
        let content = vec![7u8; 300];
        let encoded = encode(OCTET_STRING, &content);
        assert_eq!(&encoded[..4], [0x04, 0x82, 0x01, 0x2c]);
        let mut reader = Reader::new(&encoded);
        assert_eq!(reader.expect(OCTET_STRING, "octets").unwrap(), content.as_slice());
        assert!(reader.is_empty());
    }

    #[test]
    fn a_truncated_element_is_refused() {
        assert!(Reader::new(&[0x30, 0x05, 0x01]).next().is_err());
        assert!(Reader::new(&[0x30]).next().is_err());
    }
}
