//! Tests of the web app: every permission rule over HTTP (`http`), and a parent's and an
//! admin's visit in headless Chromium (`browser`).

mod browser;
mod http;
mod support;
