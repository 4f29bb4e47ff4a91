// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";

/**
 * @title Links platform accounts to wallet addresses
 * @notice A platform account is named by a 32-byte id that is a hash chosen off chain, so no personal data
 * is on chain. A wallet belongs to at most one account; an account may have several wallets (say the
 * custodial one and a user's own), up to WALLETS_PER_ACCOUNT_MAX, so listing them stays cheap.
 * Only REGISTRAR_ROLE links and unlinks.
 */
contract CarbonAccount is AccessControl {
    using EnumerableSet for EnumerableSet.AddressSet;

    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");

    /// @notice Most wallets one account may have at a time.
    uint256 public constant WALLETS_PER_ACCOUNT_MAX = 16;

    mapping(address wallet => bytes32 accountId) private _accountOf;
    mapping(bytes32 accountId => EnumerableSet.AddressSet) private _walletsOf;

    event AccountLinked(bytes32 indexed accountId, address indexed wallet);
    event AccountUnlinked(bytes32 indexed accountId, address indexed wallet);

    error ZeroAddress();
    error ZeroAccountId();
    error WalletAlreadyLinked(address wallet, bytes32 accountId);
    error WalletNotLinked(address wallet);
    error TooManyWallets(bytes32 accountId, uint256 walletsMax);

    /**
     * @param admin Receives DEFAULT_ADMIN_ROLE, which grants and revokes roles.
     * @param registrar Receives REGISTRAR_ROLE (the platform's key that links accounts).
     */
    constructor(address admin, address registrar) {
        if (admin == address(0) || registrar == address(0)) revert ZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(REGISTRAR_ROLE, registrar);
    }

    /// @notice Links `wallet` to `accountId`. Reverts when the wallet is linked already, to this account or another.
    function link(bytes32 accountId, address wallet) external onlyRole(REGISTRAR_ROLE) {
        if (accountId == bytes32(0)) revert ZeroAccountId();
        if (wallet == address(0)) revert ZeroAddress();
        bytes32 current = _accountOf[wallet];
        // Moving a wallet takes an explicit unlink first, so a mistyped id can never silently take a wallet over.
        if (current != bytes32(0)) revert WalletAlreadyLinked(wallet, current);
        EnumerableSet.AddressSet storage wallets = _walletsOf[accountId];
        if (wallets.length() >= WALLETS_PER_ACCOUNT_MAX) revert TooManyWallets(accountId, WALLETS_PER_ACCOUNT_MAX);

        _accountOf[wallet] = accountId;
        wallets.add(wallet);
        emit AccountLinked(accountId, wallet);
    }

    /// @notice Removes the link of `wallet` to its account.
    function unlink(address wallet) external onlyRole(REGISTRAR_ROLE) {
        bytes32 accountId = _accountOf[wallet];
        if (accountId == bytes32(0)) revert WalletNotLinked(wallet);

        delete _accountOf[wallet];
        _walletsOf[accountId].remove(wallet);
        emit AccountUnlinked(accountId, wallet);
    }

    /// @notice The account `wallet` is linked to, or zero when it is not linked (zero is never a valid id).
    function accountOf(address wallet) external view returns (bytes32) {
        return _accountOf[wallet];
    }

    /// @notice The wallets linked to `accountId`, in no guaranteed order; empty when none.
    function walletsOf(bytes32 accountId) external view returns (address[] memory) {
        return _walletsOf[accountId].values();
    }
}
