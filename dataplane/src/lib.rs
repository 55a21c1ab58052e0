//! qdp
