//! `DeliveryStore`, written once and instantiated per pool type (see `store_impl.rs`).

macro_rules! impl_delivery_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl idgate_core::store::DeliveryStore for $store {}
    };
}

pub(crate) use impl_delivery_store;
