//! The RFC 6455 read path from the outside: client frames built here (masked with a chosen key)
//! go through `message::Reader` as a reactor would feed them. Byte-level checks of `frame`
//! (encode_header, close_payload, unmask at every alignment) are its unit tests.

mod messages;
mod rules;
mod splits;
mod support;
