mod v1_public;
mod v2_public;
mod v1_local;
mod v2_local;
mod v3_local;
mod v4_local;
mod v4_public;
mod v3_public;