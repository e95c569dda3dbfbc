//! Delivery to a real SMTP server on loopback: mailin-embedded runs in this process and
//! speaks the protocol, answering with the replies each test asks for.

mod smtp;
