mod v1_local;
mod v3_local;
mod v4_local;