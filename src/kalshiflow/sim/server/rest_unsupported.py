"""The Trade API v2 operations the simulator does not serve, answered with a clear error.

It exists so that a client generated from Kalshi's OpenAPI, pointed at the simulator, learns at
once that an operation is outside what the simulator models (FCM, RFQ/quotes/block trades,
milestones, structured targets, live data, search, incentives, deposits/withdrawals, ...), instead
of meeting a misleading "market 'candlesticks' not found" because a literal path fell into a
``{ticker}`` route, or a bare 404 it could mistake for a missing resource.

Every operation answers **501** with Kalshi's error envelope, code ``not_supported``, naming the
operation (its OpenAPI ``operationId``, method and path). 501 is the status HTTP defines for "the
server does not support the functionality required"; it is not in Kalshi's documented statuses for
these operations, which is the point: no client will confuse it with a real exchange answer. The
table below mirrors ``openapi.yaml``; a test walks the spec and fails when an operation is neither
served nor listed here.
"""

from __future__ import annotations

from typing import Final

from kalshiflow.sim import wire
from kalshiflow.sim.server.rest_pipeline import Call, Handler, Reply, Spec

NOT_SUPPORTED_STATUS: Final = 501
NOT_SUPPORTED_CODE: Final = "not_supported"

# (method, path under /trade-api/v2, operationId), grouped as in the README.
UNSUPPORTED_OPERATIONS: Final[tuple[tuple[str, str, str], ...]] = (
    # exchange instances and transfers
    ("POST", "/portfolio/intra_exchange_instance_transfer", "IntraExchangeInstanceTransfer"),
    ("GET", "/portfolio/intra_exchange_instance_transfers", "GetIntraExchangeInstanceTransfers"),
    ("GET", "/portfolio/intra_exchange_instance_transfers/{transfer_id}", "GetIntraExchangeInstanceTransfer"),
    # sub-account netting
    ("PUT", "/portfolio/subaccounts/netting", "UpdateSubaccountNetting"),
    ("GET", "/portfolio/subaccounts/netting", "GetSubaccountNetting"),
    # deposits, withdrawals, allocation
    ("GET", "/portfolio/deposits", "GetDeposits"),
    ("GET", "/portfolio/withdrawals", "GetWithdrawals"),
    ("GET", "/portfolio/target_balance_allocation", "GetTargetBalanceAllocation"),
    ("POST", "/portfolio/target_balance_allocation", "SetTargetBalanceAllocation"),
    # communications: RFQs, quotes, block trades
    ("GET", "/communications/id", "GetCommunicationsID"),
    ("GET", "/communications/block-trade-proposals", "GetBlockTradeProposals"),
    ("POST", "/communications/block-trade-proposals", "ProposeBlockTrade"),
    (
        "POST",
        "/communications/block-trade-proposals/{block_trade_proposal_id}/accept",
        "AcceptBlockTradeProposal",
    ),
    ("GET", "/communications/rfqs", "GetRFQs"),
    ("POST", "/communications/rfqs", "CreateRFQ"),
    ("GET", "/communications/rfqs/{rfq_id}", "GetRFQ"),
    ("DELETE", "/communications/rfqs/{rfq_id}", "DeleteRFQ"),
    ("GET", "/communications/rfqs/{rfq_id}/quotes/{quote_id}", "GetRFQQuote"),
    ("DELETE", "/communications/rfqs/{rfq_id}/quotes/{quote_id}", "DeleteRFQQuote"),
    ("PUT", "/communications/rfqs/{rfq_id}/quotes/{quote_id}/accept", "AcceptRFQQuote"),
    ("PUT", "/communications/rfqs/{rfq_id}/quotes/{quote_id}/confirm", "ConfirmRFQQuote"),
    ("GET", "/communications/quotes", "GetQuotes"),
    ("POST", "/communications/quotes", "CreateQuote"),
    ("GET", "/communications/quotes/{quote_id}", "GetQuote"),
    ("DELETE", "/communications/quotes/{quote_id}", "DeleteQuote"),
    ("PUT", "/communications/quotes/{quote_id}/accept", "AcceptQuote"),
    ("PUT", "/communications/quotes/{quote_id}/confirm", "ConfirmQuote"),
    # usage levels
    ("POST", "/account/api_usage_level/upgrade", "UpgradeAccountApiUsageLevel"),
    # search, live data, structured targets, milestones, collections, incentives
    ("GET", "/search/tags_by_categories", "GetTagsForSeriesCategories"),
    ("GET", "/search/filters_by_sport", "GetFiltersForSports"),
    ("GET", "/live_data/milestone/{milestone_id}", "GetLiveDataByMilestone"),
    ("GET", "/live_data/{type}/milestone/{milestone_id}", "GetLiveData"),
    ("GET", "/live_data/batch", "GetLiveDatas"),
    ("GET", "/live_data/milestone/{milestone_id}/game_stats", "GetGameStats"),
    ("GET", "/live_data/events/{event_ticker}", "GetEventLiveData"),
    ("GET", "/live_data/weather/{city}", "GetWeatherIndex"),
    ("GET", "/live_data/weather/{city}/calibrations", "GetWeatherIndexCalibrations"),
    ("GET", "/structured_targets", "GetStructuredTargets"),
    ("GET", "/structured_targets/{structured_target_id}", "GetStructuredTarget"),
    ("GET", "/milestones/{milestone_id}", "GetMilestone"),
    ("GET", "/milestones", "GetMilestones"),
    ("GET", "/multivariate_event_collections/{collection_ticker}", "GetMultivariateEventCollection"),
    (
        "POST",
        "/multivariate_event_collections/{collection_ticker}",
        "CreateMarketInMultivariateEventCollection",
    ),
    ("GET", "/multivariate_event_collections", "GetMultivariateEventCollections"),
    ("GET", "/incentive_programs", "GetIncentivePrograms"),
    # FCM
    ("GET", "/fcm/fills", "GetFCMFills"),
    ("GET", "/fcm/orders", "GetFCMOrders"),
    ("GET", "/fcm/subtraders", "ListFCMSubtraders"),
    ("POST", "/fcm/subtraders", "CreateFCMSubtrader"),
    ("GET", "/fcm/subtraders/event_contract_daily_cap", "GetFCMEventContractDailyCap"),
    ("PUT", "/fcm/subtraders/event_contract_daily_cap", "UpdateFCMEventContractDailyCap"),
    ("DELETE", "/fcm/subtraders/event_contract_daily_cap", "DeleteFCMEventContractDailyCap"),
    ("GET", "/fcm/subtraders/blocked_categories", "GetFCMSubtraderBlockedCategories"),
    ("PUT", "/fcm/subtraders/blocked_categories", "UpdateFCMSubtraderBlockedCategories"),
    ("GET", "/fcm/positions", "GetFCMPositions"),
    # historical data beyond what the cutoff splits off
    ("GET", "/historical/markets/{ticker}/candlesticks", "GetMarketCandlesticksHistorical"),
    ("GET", "/historical/positions", "GetHistoricalPositions"),
)


def not_supported_body(operation_id: str, method: str, path: str) -> wire.JsonObject:
    return wire.error_body(
        NOT_SUPPORTED_CODE,
        f"{operation_id} ({method} {path}) is not supported by the simulator",
        operation_id,
    )


def _not_supported(operation_id: str, method: str, path: str) -> Handler:
    body = not_supported_body(operation_id, method, path)

    def handler(call: Call) -> Reply:
        return NOT_SUPPORTED_STATUS, body

    return handler


# Public access: an unsigned client gets the same answer; a signed one is still verified first.
UNSUPPORTED_ROUTES: Final = tuple(
    Spec(path, _not_supported(operation_id, method, path), method, access="public")
    for method, path, operation_id in UNSUPPORTED_OPERATIONS
)
