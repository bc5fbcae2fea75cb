//! RFC 3161 time-stamping: the TimeStampReq for a SHA-256 digest, the HTTP exchange with the authority,
//! and the checks on its answer (granted, for our digest and nonce). The signature itself is checked with
//! the authority's certificate by `openssl ts -verify` (the README says how); relais keeps the answer.

use std::time::Duration;

use super::der::{self, DerError, Reader};

/// 2.16.840.1.101.3.4.2.1 (SHA-256), content octets of the OBJECT IDENTIFIER.
const SHA256_OID: [u8; 9] = [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];

#[derive(Debug, thiserror::Error)]
pub enum TsaError {
    #[error("the time-stamping authority could not be reached: {0}")]
    Transport(String),
    #[error("the time-stamping authority answered HTTP {0}")]
    Status(u16),
    #[error("the time-stamping authority refused the request (PKIStatus {0})")]
    Refused(u32),
    #[error("the time-stamping authority's answer is not a time-stamp response: {0}")]
    Malformed(#[from] DerError),
    #[error("the time-stamp covers another digest than the anchor's")]
    WrongDigest,
    #[error("the time-stamp answers another request (nonce differs)")]
    WrongNonce,
}

/// A TimeStampReq (v1) for a SHA-256 `digest`, asking for the authority's certificate in the answer.
pub fn request(digest: &[u8; 32], nonce: u64) -> Vec<u8> {
    let algorithm =
        der::encode(der::SEQUENCE, &[der::encode(der::OID, &SHA256_OID), der::encode(der::NULL, &[])].concat());
    let imprint = der::encode(der::SEQUENCE, &[algorithm, der::encode(der::OCTET_STRING, digest)].concat());
    let body = [
        der::unsigned_integer(&[1]),
        imprint,
        der::unsigned_integer(&nonce.to_be_bytes()),
        der::encode(der::BOOLEAN, &[0xff]),
    ]
    .concat();
    der::encode(der::SEQUENCE, &body)
}

/// What relais reads from a granted TimeStampResp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeStamp {
    /// The SHA-256 the authority signed.
    pub imprint: Vec<u8>,
    /// `genTime` as the authority wrote it (GeneralizedTime, UTC).
    pub gen_time: String,
    /// The nonce echoed back, as INTEGER content octets.
    pub nonce: Option<Vec<u8>>,
}

/// Reads a TimeStampResp: refused unless its status is granted; returns what its TSTInfo says.
pub fn read_response(bytes: &[u8]) -> Result<TimeStamp, TsaError> {
    let mut response = Reader::new(Reader::new(bytes).expect(der::SEQUENCE, "TimeStampResp")?);
    let mut status_info = Reader::new(response.expect(der::SEQUENCE, "PKIStatusInfo")?);
    let status = status_info.expect(der::INTEGER, "PKIStatus")?;
    let status = status.iter().fold(0u32, |acc, b| (acc << 8) | *b as u32);
    if status > 1 {
        return Err(TsaError::Refused(status));
    }
    let mut content_info = Reader::new(response.expect(der::SEQUENCE, "TimeStampToken")?);
    content_info.expect(der::OID, "ContentInfo contentType")?;
    let signed =
        Reader::new(content_info.expect(der::CONTEXT_0, "ContentInfo content")?).expect(der::SEQUENCE, "SignedData")?;
    let mut signed = Reader::new(signed);
    signed.expect(der::INTEGER, "SignedData version")?;
    signed.expect(der::SET, "SignedData digestAlgorithms")?;
    let mut encapsulated = Reader::new(signed.expect(der::SEQUENCE, "encapContentInfo")?);
    encapsulated.expect(der::OID, "eContentType")?;
    let econtent =
        Reader::new(encapsulated.expect(der::CONTEXT_0, "eContent")?).expect(der::OCTET_STRING, "eContent")?;
    read_tst_info(econtent)
}

fn read_tst_info(der_bytes: &[u8]) -> Result<TimeStamp, TsaError> {
    let mut info = Reader::new(Reader::new(der_bytes).expect(der::SEQUENCE, "TSTInfo")?);
    info.expect(der::INTEGER, "TSTInfo version")?;
    info.expect(der::OID, "TSTInfo policy")?;
    let mut imprint = Reader::new(info.expect(der::SEQUENCE, "messageImprint")?);
    imprint.expect(der::SEQUENCE, "hashAlgorithm")?;
    let hashed = imprint.expect(der::OCTET_STRING, "hashedMessage")?.to_vec();
    info.expect(der::INTEGER, "serialNumber")?;
    let gen_time = String::from_utf8_lossy(info.expect(der::GENERALIZED_TIME, "genTime")?).into_owned();
    let mut nonce = None;
    while !info.is_empty() {
        match info.next()? {
            (der::INTEGER, content) => {
                nonce = Some(content.to_vec());
                break;
            }
            _ => continue,
        }
    }
    Ok(TimeStamp { imprint: hashed, gen_time, nonce })
}

/// Asks `url` to time-stamp `digest`; returns the whole TimeStampResp (kept as the `.tsr` file) once it is
/// known to be granted for this digest and this request.
pub async fn timestamp(url: &url::Url, digest: &[u8; 32], timeout: Duration) -> Result<(Vec<u8>, TimeStamp), TsaError> {
    let nonce = rand::random::<u64>() >> 1;
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| TsaError::Transport(e.without_url().to_string()))?;
    let response = client
        .post(url.clone())
        .header("content-type", "application/timestamp-query")
        .body(request(digest, nonce))
        .send()
        .await
        .map_err(|e| TsaError::Transport(e.without_url().to_string()))?;
    if !response.status().is_success() {
        return Err(TsaError::Status(response.status().as_u16()));
    }
    let bytes = response.bytes().await.map_err(|e| TsaError::Transport(e.without_url().to_string()))?.to_vec();
    let stamp = read_response(&bytes)?;
    if stamp.imprint != digest {
        return Err(TsaError::WrongDigest);
    }
    let expected_nonce = der::unsigned_integer(&nonce.to_be_bytes());
    if stamp.nonce.as_deref() != Some(&expected_nonce[2..]) {
        return Err(TsaError::WrongNonce);
    }
    Ok((bytes, stamp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_is_the_rfc_3161_structure_for_sha256() {
        let req = request(&[0xab; 32], 0x0102);
        let mut outer = Reader::new(Reader::new(&req).expect(der::SEQUENCE, "req").unwrap());
        assert_eq!(outer.expect(der::INTEGER, "version").unwrap(), [1]);
        let mut imprint = Reader::new(outer.expect(der::SEQUENCE, "imprint").unwrap());
        let mut algorithm = Reader::new(imprint.expect(der::SEQUENCE, "alg").unwrap());
        assert_eq!(algorithm.expect(der::OID, "oid").unwrap(), SHA256_OID);
        assert_eq!(imprint.expect(der::OCTET_STRING, "hash").unwrap(), [0xab; 32]);
        assert_eq!(outer.expect(der::INTEGER, "nonce").unwrap(), [1, 2]);
        assert_eq!(outer.expect(der::BOOLEAN, "certReq").unwrap(), [0xff]);
        assert!(outer.is_empty());
    }

    #[test]
    fn a_refusal_is_reported_with_its_status() {
        let status = der::encode(der::SEQUENCE, &der::unsigned_integer(&[2]));
        let response = der::encode(der::SEQUENCE, &status);
        assert!(matches!(read_response(&response), Err(TsaError::Refused(2))));
        assert!(matches!(read_response(b"<html>"), Err(TsaError::Malformed(_))));
    }
}
