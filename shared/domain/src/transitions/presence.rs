//! An agent's availability and its lapse.

use super::*;

/// Plans an agent's availability: its presence, the channels' counts of available agents
/// (which BUTTON_STATUS follows) and its listing in each channel. `previous` is the
/// presence read, which the write must still find.
pub fn set_presence(previous: Option<&Presence>, mut presence: Presence, now: &Moment) -> (Plan, Presence) {
    presence.counted = presence.counts_in(now.epoch_secs);
    let conflict = "availability changed meanwhile; try again";
    let mut plan = Plan::default();
    let seen = previous.map(|p| p.update_time.clone());
    plan.write(Write::Presence { presence: presence.clone(), seen }, conflict);
    // The channels' counts follow what this presence counted in before and counts in now.
    let was = previous.map(|p| p.counted.clone()).unwrap_or_default();
    for (channel_id, delta) in count_changes(&was, &presence.counted) {
        plan.write(Write::ChannelCount { channel_id, delta }, conflict);
    }
    let listed: BTreeSet<&String> = if presence.availability == Availability::Online {
        presence.channels.iter().collect()
    } else {
        BTreeSet::new()
    };
    for c in &listed {
        let agent = ChannelAgent {
            channel_id: (*c).clone(),
            user_id: presence.user_id.clone(),
            external: presence.external,
            expires_at: presence.expires_at,
        };
        plan.write(Write::ChannelAgent(agent), conflict);
    }
    for c in previous.iter().flat_map(|p| p.channels.iter()).filter(|c| !listed.contains(c)) {
        plan.write(Write::RemoveChannelAgent { channel_id: c.clone(), user_id: presence.user_id.clone() }, conflict);
    }
    (plan, presence)
}

/// Plans the sweep of a lapsed presence: offline and out of its channels' counts, unless
/// the agent refreshed it meanwhile.
pub fn sweep_presence(presence: &Presence, now: &Moment) -> Plan {
    let swept = Presence {
        availability: Availability::Offline,
        counted: Vec::new(),
        update_time: now.stamp.clone(),
        ..presence.clone()
    };
    let mut plan = Plan::default();
    let refreshed = "refreshed meanwhile";
    for (channel_id, delta) in count_changes(&presence.counted, &swept.counted) {
        plan.write(Write::ChannelCount { channel_id, delta }, refreshed);
    }
    plan.write_first(Write::Presence { presence: swept, seen: Some(presence.update_time.clone()) }, refreshed);
    plan
}
