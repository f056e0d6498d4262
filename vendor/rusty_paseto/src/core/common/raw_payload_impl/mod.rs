mod nist_local;
mod v2_local;
mod v4_local;
mod v_public;