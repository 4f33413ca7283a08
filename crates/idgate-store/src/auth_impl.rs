//! `AuthStore`, written once and instantiated per pool type (see `store_impl.rs`).

macro_rules! impl_auth_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl idgate_core::store::AuthStore for $store {}
    };
}

pub(crate) use impl_auth_store;
