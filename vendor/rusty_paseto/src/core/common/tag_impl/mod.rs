mod v4_local;
mod nist_local;