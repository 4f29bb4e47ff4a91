// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/**
 * @title Moss Carbon Credit (MCO2)
 * @notice One token (10^18 base units) stands for one tonne of CO2e. Holders may burn tokens plainly, or
 * retire them: a retirement burns the tokens for good and records a numbered certificate naming who the
 * offset is for, which is what a buyer of carbon credits wants to show.
 */
contract CarbonToken is ERC20, ERC20Burnable, ERC20Permit, AccessControl {
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");

    /// @notice Longest beneficiary text a certificate stores, in bytes of UTF-8: it is kept in storage, paid by the caller.
    uint256 public constant BENEFICIARY_BYTES_MAX = 128;
    /// @notice Longest message text a certificate stores, in bytes of UTF-8.
    uint256 public constant MESSAGE_BYTES_MAX = 512;

    /// @notice A retirement certificate. `timestamp` is the block time in seconds.
    struct Retirement {
        address account;
        uint64 timestamp;
        uint256 amount;
        string beneficiary;
        string message;
    }

    /// @notice Total base units ever retired by each account.
    mapping(address account => uint256 amount) public retiredBy;
    /// @notice Total base units ever retired, by everyone.
    uint256 public totalRetired;
    /// @notice Id of the latest certificate; ids run from 1 to this number, so 0 means none yet.
    uint256 public retirementCount;

    mapping(uint256 id => Retirement) private _retirements;

    /// @notice `account` retired `amount` base units; certificate `id` holds the details.
    event Retired(uint256 indexed id, address indexed account, uint256 amount, string beneficiary, string message);

    error ZeroAmount();
    error ZeroAddress();
    error TextTooLong(uint256 lengthBytes, uint256 maxBytes);
    error RetirementNotFound(uint256 id);

    /**
     * @param admin Receives DEFAULT_ADMIN_ROLE, which grants and revokes roles.
     * @param minter Receives MINTER_ROLE (the platform's issuing key).
     */
    constructor(address admin, address minter) ERC20("Moss Carbon Credit", "MCO2") ERC20Permit("Moss Carbon Credit") {
        if (admin == address(0) || minter == address(0)) revert ZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(MINTER_ROLE, minter);
    }

    /// @notice Creates `amount` base units for `to`. Only MINTER_ROLE.
    function mint(address to, uint256 amount) external onlyRole(MINTER_ROLE) {
        if (amount == 0) revert ZeroAmount();
        _mint(to, amount);
    }

    /**
     * @notice Burns `amount` of the caller's tokens as a retirement and records a certificate.
     * @param beneficiary Who the offset is claimed for (may be empty: the caller itself), at most BENEFICIARY_BYTES_MAX bytes.
     * @param message Free text for the certificate, at most MESSAGE_BYTES_MAX bytes.
     * @return id The certificate id, counting from 1.
     */
    function retire(uint256 amount, string calldata beneficiary, string calldata message) external returns (uint256 id) {
        if (amount == 0) revert ZeroAmount();
        if (bytes(beneficiary).length > BENEFICIARY_BYTES_MAX) {
            revert TextTooLong(bytes(beneficiary).length, BENEFICIARY_BYTES_MAX);
        }
        if (bytes(message).length > MESSAGE_BYTES_MAX) revert TextTooLong(bytes(message).length, MESSAGE_BYTES_MAX);

        // Burning first: it reverts with ERC20InsufficientBalance before anything is recorded.
        _burn(msg.sender, amount);
        id = ++retirementCount;
        _retirements[id] = Retirement({
            account: msg.sender,
            timestamp: uint64(block.timestamp),
            amount: amount,
            beneficiary: beneficiary,
            message: message
        });
        retiredBy[msg.sender] += amount;
        totalRetired += amount;
        emit Retired(id, msg.sender, amount, beneficiary, message);
    }

    /// @notice The certificate with this id; reverts with RetirementNotFound for an id never issued.
    function retirement(uint256 id) external view returns (Retirement memory) {
        if (id == 0 || id > retirementCount) revert RetirementNotFound(id);
        return _retirements[id];
    }
}
