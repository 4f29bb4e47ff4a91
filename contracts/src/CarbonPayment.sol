// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/**
 * @title Pays merchants in MCO2, with a reference, and lets them refund
 * @notice Tokens go straight from payer to merchant; this contract never holds any. It keeps per payment
 * only what a refund needs (payer, merchant, amount, refunded so far); the reference is in the
 * PaymentMade event. A refund also moves tokens straight from merchant to payer, so the merchant first
 * approves this contract for the refund amount.
 */
contract CarbonPayment {
    using SafeERC20 for IERC20;

    /// @notice Largest amount of one payment, in base units (about 7.9e10 tonnes): amounts are stored as uint96.
    uint256 public constant PAYMENT_AMOUNT_MAX = type(uint96).max;

    /// @notice What a refund needs to know; two storage slots.
    struct Payment {
        address payer;
        uint96 amount;
        address merchant;
        uint96 refunded;
    }

    IERC20 public immutable token;
    /// @notice Id of the latest payment; ids run from 1 to this number.
    uint256 public paymentCount;

    mapping(uint256 paymentId => Payment) private _payments;

    event PaymentMade(
        uint256 indexed paymentId, address indexed payer, address indexed merchant, uint256 amount, bytes32 paymentReference
    );
    /// @param refundedTotal All refunded for this payment so far, this refund included.
    event PaymentRefunded(
        uint256 indexed paymentId, address indexed payer, address indexed merchant, uint256 amount, uint256 refundedTotal
    );

    error ZeroAddress();
    error ZeroAmount();
    error AmountTooLarge(uint256 amount, uint256 amountMax);
    error SelfPayment();
    error PaymentNotFound(uint256 paymentId);
    error NotMerchant(uint256 paymentId, address caller);
    error RefundExceedsPayment(uint256 paymentId, uint256 amount, uint256 refundable);

    /// @param token_ The MCO2 token (CarbonToken), which supports EIP-2612 permits.
    constructor(IERC20 token_) {
        if (address(token_) == address(0)) revert ZeroAddress();
        token = token_;
    }

    /**
     * @notice Pays `amount` base units from the caller to `merchant`, using the caller's allowance to this contract.
     * @param paymentReference The merchant's order or invoice id (an opaque 32 bytes, e.g. a hash), echoed in PaymentMade.
     * @return paymentId The new payment's id, counting from 1.
     */
    function pay(address merchant, uint256 amount, bytes32 paymentReference) external returns (uint256 paymentId) {
        return _pay(merchant, amount, paymentReference);
    }

    /**
     * @notice Like pay, with an EIP-2612 permit (owner: the caller, spender: this contract, value: `amount`)
     * instead of a prior approve, so a payment takes one transaction.
     * @dev Anyone who sees the permit in the mempool can submit it first, which makes our permit call revert
     * although the allowance is then in place. So a failed permit only aborts the payment when the allowance
     * is short, and then with the permit's own error (e.g. ERC2612InvalidSigner).
     */
    function payWithPermit(
        address merchant,
        uint256 amount,
        bytes32 paymentReference,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external returns (uint256 paymentId) {
        try IERC20Permit(address(token)).permit(msg.sender, address(this), amount, deadline, v, r, s) {}
        catch (bytes memory reason) {
            if (token.allowance(msg.sender, address(this)) < amount) {
                assembly ("memory-safe") {
                    revert(add(reason, 0x20), mload(reason))
                }
            }
        }
        return _pay(merchant, amount, paymentReference);
    }

    /**
     * @notice Gives back `amount` of payment `paymentId` from the merchant to the payer. Only the payment's
     * merchant, and all refunds of a payment together at most its amount. Needs the merchant's allowance.
     */
    function refund(uint256 paymentId, uint256 amount) external {
        Payment storage payment_ = _existingPayment(paymentId);
        if (msg.sender != payment_.merchant) revert NotMerchant(paymentId, msg.sender);
        if (amount == 0) revert ZeroAmount();
        uint256 refundable = payment_.amount - payment_.refunded;
        if (amount > refundable) revert RefundExceedsPayment(paymentId, amount, refundable);

        // Cannot truncate: amount <= refundable <= PAYMENT_AMOUNT_MAX.
        uint96 refundedTotal = payment_.refunded + uint96(amount);
        payment_.refunded = refundedTotal;
        token.safeTransferFrom(msg.sender, payment_.payer, amount);
        emit PaymentRefunded(paymentId, payment_.payer, msg.sender, amount, refundedTotal);
    }

    /// @notice Payment `paymentId`; reverts with PaymentNotFound for an id never issued.
    function payment(uint256 paymentId) external view returns (Payment memory) {
        return _existingPayment(paymentId);
    }

    function _pay(address merchant, uint256 amount, bytes32 paymentReference) private returns (uint256 paymentId) {
        if (merchant == address(0)) revert ZeroAddress();
        if (merchant == msg.sender) revert SelfPayment();
        if (amount == 0) revert ZeroAmount();
        if (amount > PAYMENT_AMOUNT_MAX) revert AmountTooLarge(amount, PAYMENT_AMOUNT_MAX);

        paymentId = ++paymentCount;
        _payments[paymentId] = Payment({payer: msg.sender, amount: uint96(amount), merchant: merchant, refunded: 0});
        token.safeTransferFrom(msg.sender, merchant, amount);
        emit PaymentMade(paymentId, msg.sender, merchant, amount, paymentReference);
    }

    function _existingPayment(uint256 paymentId) private view returns (Payment storage payment_) {
        payment_ = _payments[paymentId];
        if (payment_.payer == address(0)) revert PaymentNotFound(paymentId);
    }
}
