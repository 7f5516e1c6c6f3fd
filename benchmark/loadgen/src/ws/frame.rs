//! RFC 6455 frames as a client sends and reads them: masked final frames out, unmasked
//! server frames in (with the header checks a client must make), and the small PRNG that
//! supplies masks and keys. Sans-IO.

pub const OP_CONT: u8 = 0x0;
pub const OP_TEXT: u8 = 0x1;
pub const OP_BINARY: u8 = 0x2;
pub const OP_CLOSE: u8 = 0x8;
pub const OP_PING: u8 = 0x9;
pub const OP_PONG: u8 = 0xA;

/// A small xorshift64* generator for keys and masks. Not cryptographic: a benchmark
/// client only needs masks that vary, not masks an attacker cannot guess.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn mask(&mut self) -> [u8; 4] {
        (self.next_u64() as u32).to_ne_bytes()
    }
}

/// Appends one final (FIN) frame, masked with `mask`, as a client must send it.
pub fn encode_frame(out: &mut Vec<u8>, opcode: u8, payload: &[u8], mask: [u8; 4]) {
    out.push(0x80 | (opcode & 0x0F));
    let len = payload.len();
    if len < 126 {
        out.push(0x80 | len as u8);
    } else if len <= u16::MAX as usize {
        out.push(0x80 | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out.extend_from_slice(&mask);
    let start = out.len();
    out.extend_from_slice(payload);
    for (i, b) in out[start..].iter_mut().enumerate() {
        *b ^= mask[i & 3];
    }
}

/// Appends a close frame with `code` and no reason.
pub fn encode_close(out: &mut Vec<u8>, code: u16, mask: [u8; 4]) {
    encode_frame(out, OP_CLOSE, &code.to_be_bytes(), mask);
}

/// One decoded server frame, borrowing its payload from the input.
#[derive(Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    pub fin: bool,
    pub opcode: u8,
    pub payload: &'a [u8],
    /// Bytes of input this frame took (header + payload).
    pub len: usize,
}

/// Why a server frame was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum FrameError {
    Masked,
    Reserved,
    BadOpcode,
    BadControl,
    TooBig,
}

/// Decodes the first frame of `buf`. `Ok(None)`: more bytes are needed.
pub fn decode_frame(buf: &[u8], max_payload: usize) -> Result<Option<Frame<'_>>, FrameError> {
    if buf.len() < 2 {
        return Ok(None);
    }
    let (b0, b1) = (buf[0], buf[1]);
    if b0 & 0x70 != 0 {
        return Err(FrameError::Reserved);
    }
    if b1 & 0x80 != 0 {
        return Err(FrameError::Masked);
    }
    let (fin, opcode) = (b0 & 0x80 != 0, b0 & 0x0F);
    let control = opcode & 0x08 != 0;
    match opcode {
        OP_CONT | OP_TEXT | OP_BINARY | OP_CLOSE | OP_PING | OP_PONG => {}
        _ => return Err(FrameError::BadOpcode),
    }
    let (len, head) = match b1 & 0x7F {
        126 => match buf.get(2..4) {
            Some(b) => (u16::from_be_bytes([b[0], b[1]]) as u64, 4),
            None => return Ok(None),
        },
        127 => match buf.get(2..10) {
            Some(b) => {
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                (u64::from_be_bytes(a), 10)
            }
            None => return Ok(None),
        },
        n => (n as u64, 2),
    };
    if control && (!fin || len > 125) {
        return Err(FrameError::BadControl);
    }
    if len > max_payload as u64 {
        return Err(FrameError::TooBig);
    }
    let total = head + len as usize;
    if buf.len() < total {
        return Ok(None);
    }
    Ok(Some(Frame {
        fin,
        opcode,
        payload: &buf[head..total],
        len: total,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unmask(frame: &[u8], head: usize) -> Vec<u8> {
        let mask = &frame[head - 4..head];
        frame[head..]
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ mask[i & 3])
            .collect()
    }

    #[test]
    fn encodes_masked_frames_of_each_length_form() {
        let mask = [1, 2, 3, 4];
        for (len, head) in [
            (0usize, 6usize),
            (125, 6),
            (126, 8),
            (65535, 8),
            (65536, 14),
        ] {
            let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut out = Vec::new();
            encode_frame(&mut out, OP_TEXT, &payload, mask);
            assert_eq!(out.len(), head + len, "len {len}");
            assert_eq!(out[0], 0x81);
            assert_eq!(out[1] & 0x80, 0x80, "client frames are masked");
            assert_eq!(&out[head - 4..head], &mask);
            assert_eq!(unmask(&out, head), payload);
        }
        let mut out = Vec::new();
        encode_close(&mut out, 1000, [0; 4]);
        assert_eq!(out, [0x88, 0x82, 0, 0, 0, 0, 0x03, 0xE8]);
    }

    #[test]
    fn decodes_server_frames() {
        let f = decode_frame(&[0x81, 0x02, b'h', b'i', 0xFF], 1 << 20).expect("valid");
        assert_eq!(
            f,
            Some(Frame {
                fin: true,
                opcode: OP_TEXT,
                payload: b"hi",
                len: 4
            })
        );
        let mut long = vec![0x02, 126, 0x01, 0x00];
        long.extend(std::iter::repeat_n(7u8, 256));
        let f = decode_frame(&long, 1 << 20)
            .expect("valid")
            .expect("complete");
        assert_eq!(
            (f.fin, f.opcode, f.payload.len(), f.len),
            (false, OP_BINARY, 256, 260)
        );
        let mut huge = vec![0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0];
        huge.extend(std::iter::repeat_n(1u8, 65536));
        assert_eq!(
            decode_frame(&huge, 1 << 20).expect("valid").map(|f| f.len),
            Some(65546)
        );
        assert_eq!(decode_frame(&huge, 1000), Err(FrameError::TooBig));
        // Partial input at every split point asks for more.
        for cut in 0..long.len() {
            assert_eq!(decode_frame(&long[..cut], 1 << 20), Ok(None), "cut {cut}");
        }
        assert_eq!(
            decode_frame(&[0x89, 0x00], 10).map(|f| f.map(|f| f.opcode)),
            Ok(Some(OP_PING))
        );
    }

    #[test]
    fn refuses_bad_server_frames() {
        assert_eq!(
            decode_frame(&[0x81, 0x81, 0, 0, 0, 0, b'x'], 10),
            Err(FrameError::Masked)
        );
        assert_eq!(decode_frame(&[0xC1, 0x00], 10), Err(FrameError::Reserved));
        assert_eq!(decode_frame(&[0x83, 0x00], 10), Err(FrameError::BadOpcode));
        assert_eq!(decode_frame(&[0x09, 0x00], 10), Err(FrameError::BadControl));
        assert_eq!(
            decode_frame(&[0x88, 126, 0, 126], 1000),
            Err(FrameError::BadControl)
        );
    }
}
