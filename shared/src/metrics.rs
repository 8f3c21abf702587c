//! Counts DynamoDB round trips and consumed capacity at the SDK, for tests and benchmarks:
//! an interceptor asks every call for its consumed capacity and adds it up.

use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::operation::{
    batch_get_item::{BatchGetItemInput, BatchGetItemOutput},
    batch_write_item::{BatchWriteItemInput, BatchWriteItemOutput},
    delete_item::{DeleteItemInput, DeleteItemOutput},
    get_item::{GetItemInput, GetItemOutput},
    put_item::{PutItemInput, PutItemOutput},
    query::{QueryInput, QueryOutput},
    transact_write_items::{TransactWriteItemsInput, TransactWriteItemsOutput},
    update_item::{UpdateItemInput, UpdateItemOutput},
};
use aws_sdk_dynamodb::types::{ConsumedCapacity, ReturnConsumedCapacity};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextMut, BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// What the calls since the last [`Meter::take`] cost.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Usage {
    /// HTTP attempts sent to DynamoDB.
    pub round_trips: u32,
    /// Capacity units as DynamoDB (Local) reported them, read and write.
    pub read_units: f64,
    pub write_units: f64,
    /// Operation names, in call order.
    pub operations: Vec<&'static str>,
}

#[derive(Debug, Clone, Default)]
pub struct Meter {
    usage: Arc<Mutex<Usage>>,
}

impl Meter {
    /// The usage so far, and a fresh start.
    pub fn take(&self) -> Usage {
        self.usage.lock().map(|mut u| std::mem::take(&mut *u)).unwrap_or_default()
    }

    fn record(&self, f: impl FnOnce(&mut Usage)) {
        if let Ok(mut u) = self.usage.lock() {
            f(&mut u);
        }
    }
}

fn units(c: &ConsumedCapacity) -> f64 {
    c.capacity_units().unwrap_or(0.0)
}

macro_rules! ask_capacity {
    ($input:expr, $($ty:ty),+) => {
        $(if let Some(i) = $input.downcast_mut::<$ty>() { i.return_consumed_capacity = Some(ReturnConsumedCapacity::Total); })+
    };
}

impl Intercept for Meter {
    fn name(&self) -> &'static str {
        "Meter"
    }

    fn modify_before_serialization(
        &self,
        context: &mut BeforeSerializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let input = context.input_mut();
        ask_capacity!(
            input,
            QueryInput,
            GetItemInput,
            PutItemInput,
            UpdateItemInput,
            DeleteItemInput,
            BatchGetItemInput,
            BatchWriteItemInput,
            TransactWriteItemsInput
        );
        Ok(())
    }

    fn read_before_transmit(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.record(|u| u.round_trips += 1);
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(Ok(output)) = context.output_or_error() else { return Ok(()) };
        let (name, read, write): (&'static str, f64, f64) = if let Some(o) = output.downcast_ref::<QueryOutput>() {
            ("Query", o.consumed_capacity().map_or(0.0, units), 0.0)
        } else if let Some(o) = output.downcast_ref::<GetItemOutput>() {
            ("GetItem", o.consumed_capacity().map_or(0.0, units), 0.0)
        } else if let Some(o) = output.downcast_ref::<BatchGetItemOutput>() {
            ("BatchGetItem", o.consumed_capacity().iter().map(units).sum(), 0.0)
        } else if let Some(o) = output.downcast_ref::<PutItemOutput>() {
            ("PutItem", 0.0, o.consumed_capacity().map_or(0.0, units))
        } else if let Some(o) = output.downcast_ref::<UpdateItemOutput>() {
            ("UpdateItem", 0.0, o.consumed_capacity().map_or(0.0, units))
        } else if let Some(o) = output.downcast_ref::<DeleteItemOutput>() {
            ("DeleteItem", 0.0, o.consumed_capacity().map_or(0.0, units))
        } else if let Some(o) = output.downcast_ref::<BatchWriteItemOutput>() {
            ("BatchWriteItem", 0.0, o.consumed_capacity().iter().map(units).sum())
        } else if let Some(o) = output.downcast_ref::<TransactWriteItemsOutput>() {
            ("TransactWriteItems", 0.0, o.consumed_capacity().iter().map(units).sum())
        } else {
            ("Other", 0.0, 0.0)
        };
        self.record(|u| {
            u.read_units += read;
            u.write_units += write;
            u.operations.push(name);
        });
        Ok(())
    }
}
