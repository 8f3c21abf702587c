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
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

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
    /// The IAM actions the calls needed (`dynamodb:<action>`): a transaction needs each of
    /// its items' (PutItem, UpdateItem, DeleteItem, ConditionCheckItem). A query of an index
    /// is `Query index` (its resource is the index's ARN, not the table's).
    pub actions: Vec<&'static str>,
    /// Each call, with what AWS would bill for it.
    pub calls: Vec<Call>,
}

/// One DynamoDB call and its capacity.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub operation: &'static str,
    /// As DynamoDB (Local) reported it.
    pub reported_units: f64,
    /// Strongly consistent read.
    pub consistent: bool,
}

impl Call {
    /// Units by AWS's rules, where DynamoDB Local's report differs: a read is billed at
    /// least 0.5 (eventually consistent) or 1 unit even when it finds nothing, and a
    /// transactional write costs double.
    pub fn aws_units(&self) -> f64 {
        match self.operation {
            "Query" | "GetItem" => self.reported_units.max(if self.consistent { 1.0 } else { 0.5 }),
            "TransactWriteItems" => self.reported_units * 2.0,
            _ => self.reported_units,
        }
    }

    pub fn is_read(&self) -> bool {
        matches!(self.operation, "Query" | "GetItem" | "BatchGetItem")
    }
}

impl Usage {
    /// (read, write) units by AWS's rules.
    pub fn aws_units(&self) -> (f64, f64) {
        self.calls
            .iter()
            .fold((0.0, 0.0), |(r, w), c| if c.is_read() { (r + c.aws_units(), w) } else { (r, w + c.aws_units()) })
    }
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

/// Whether the call being made reads strongly consistently.
#[derive(Debug, Clone)]
struct Consistent(bool);

impl Storable for Consistent {
    type Storer = StoreReplace<Self>;
}

fn units(c: &ConsumedCapacity) -> f64 {
    c.capacity_units().unwrap_or(0.0)
}

/// The IAM actions a call needs, from its input.
fn iam_actions(input: &aws_smithy_runtime_api::client::interceptors::context::Input) -> Vec<&'static str> {
    if let Some(t) = input.downcast_ref::<TransactWriteItemsInput>() {
        return t
            .transact_items()
            .iter()
            .map(|i| {
                if i.put().is_some() {
                    "PutItem"
                } else if i.update().is_some() {
                    "UpdateItem"
                } else if i.delete().is_some() {
                    "DeleteItem"
                } else {
                    "ConditionCheckItem"
                }
            })
            .collect();
    }
    let name = if let Some(q) = input.downcast_ref::<QueryInput>() {
        if q.index_name.is_some() {
            "Query index"
        } else {
            "Query"
        }
    } else if input.downcast_ref::<GetItemInput>().is_some() {
        "GetItem"
    } else if input.downcast_ref::<PutItemInput>().is_some() {
        "PutItem"
    } else if input.downcast_ref::<UpdateItemInput>().is_some() {
        "UpdateItem"
    } else if input.downcast_ref::<DeleteItemInput>().is_some() {
        "DeleteItem"
    } else if input.downcast_ref::<BatchGetItemInput>().is_some() {
        "BatchGetItem"
    } else if input.downcast_ref::<BatchWriteItemInput>().is_some() {
        "BatchWriteItem"
    } else {
        "DescribeTable"
    };
    vec![name]
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
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let input = context.input_mut();
        // The input is gone by the time the output is read: note what billing needs now.
        let consistent = input.downcast_ref::<QueryInput>().and_then(|q| q.consistent_read).unwrap_or(false)
            || input.downcast_ref::<GetItemInput>().and_then(|g| g.consistent_read).unwrap_or(false);
        cfg.interceptor_state().store_put(Consistent(consistent));
        let actions = iam_actions(input);
        self.record(|u| u.actions.extend(actions));
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
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let consistent = cfg.load::<Consistent>().is_some_and(|c| c.0);
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
            u.calls.push(Call { operation: name, reported_units: read + write, consistent });
        });
        Ok(())
    }
}
