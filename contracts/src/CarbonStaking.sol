// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

/**
 * @title Stake MCO2, earn MCO2
 * @notice Every staked base unit earns `rewardRatePerTokenPerSecond / 1e18` base units per second (a fixed
 * rate per token, like an interest rate, not a fixed emission shared by all stakers). Rewards come only
 * from a pool funded with fundRewards; staked principal is never paid out as reward.
 *
 * When the pool runs dry, accrual stops: stakers share what was left, pro rata, and earn nothing more
 * until the pool is funded again (funding does not pay for the time the pool was empty). Rewards once
 * accrued are reserved, so every claim is paid in full.
 *
 * @dev Accrual is computed lazily, Synthetix-style: a cumulative reward per staked token
 * (`_rewardPerTokenStored`, scaled by 1e18) advances at each update, and each account remembers the
 * value at its last update. Between two updates the total staked is constant, so capping an interval's
 * accrual at the pool's remainder is the same as stopping accrual at the moment the pool ran out.
 * Balance sheet, asserted after every change: token balance >= totalStaked + pool remaining + rewards reserved.
 */
contract CarbonStaking is Ownable2Step, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice Fixed-point scale of rates and of the reward per token.
    uint256 public constant REWARD_RATE_SCALE = 1e18;
    /// @notice Highest accepted rate: one reward token per staked token per second. Far above any sane
    /// rate; it keeps a typo from being accepted and keeps `rate * elapsed` far from overflow.
    uint256 public constant REWARD_RATE_PER_TOKEN_PER_SECOND_MAX = REWARD_RATE_SCALE;

    IERC20 public immutable token;

    /// @notice Reward base units per staked base unit per second, scaled by REWARD_RATE_SCALE.
    uint256 public rewardRatePerTokenPerSecond;
    /// @notice Sum of all staked principal, in base units.
    uint256 public totalStaked;
    /// @notice Staked principal per account, in base units.
    mapping(address account => uint256 amount) public stakedOf;

    uint256 private _rewardPerTokenStored;
    uint256 private _lastUpdateTimestamp;
    /// Funded and not yet accrued to anyone.
    uint256 private _rewardPoolRemaining;
    /// Accrued to stakers and not yet claimed; may exceed the sum of what they can claim by rounding dust.
    uint256 private _rewardsReserved;
    mapping(address account => uint256) private _rewardPerTokenPaid;
    mapping(address account => uint256 amount) private _rewardsAccrued;

    event Staked(address indexed account, uint256 amount);
    event Unstaked(address indexed account, uint256 amount);
    event RewardPaid(address indexed account, uint256 amount);
    event RewardRateChanged(uint256 previousRatePerTokenPerSecond, uint256 newRatePerTokenPerSecond);
    event RewardsFunded(address indexed funder, uint256 amount);

    error ZeroAddress();
    error ZeroAmount();
    error InsufficientStake(uint256 amount, uint256 staked);
    error NothingToClaim();
    error RewardRateTooHigh(uint256 ratePerTokenPerSecond, uint256 rateMax);

    /**
     * @param token_ The MCO2 token, both staked and paid as reward.
     * @param owner_ May set the reward rate.
     */
    constructor(IERC20 token_, address owner_) Ownable(owner_) {
        if (address(token_) == address(0)) revert ZeroAddress();
        token = token_;
        _lastUpdateTimestamp = block.timestamp;
    }

    /// @notice Stakes `amount` base units of the caller's tokens (needs an allowance to this contract).
    function stake(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        _updateRewards(msg.sender);
        stakedOf[msg.sender] += amount;
        totalStaked += amount;
        token.safeTransferFrom(msg.sender, address(this), amount);
        emit Staked(msg.sender, amount);
        _assertSolvent();
    }

    /// @notice Returns `amount` base units of the caller's principal; rewards stay claimable.
    function unstake(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        uint256 staked = stakedOf[msg.sender];
        if (amount > staked) revert InsufficientStake(amount, staked);
        _updateRewards(msg.sender);
        stakedOf[msg.sender] = staked - amount;
        totalStaked -= amount;
        token.safeTransfer(msg.sender, amount);
        emit Unstaked(msg.sender, amount);
        _assertSolvent();
    }

    /// @notice Pays the caller all rewards accrued so far.
    function claim() external nonReentrant {
        _updateRewards(msg.sender);
        uint256 amount = _rewardsAccrued[msg.sender];
        if (amount == 0) revert NothingToClaim();
        _rewardsAccrued[msg.sender] = 0;
        _rewardsReserved -= amount;
        token.safeTransfer(msg.sender, amount);
        emit RewardPaid(msg.sender, amount);
        _assertSolvent();
    }

    /// @notice Adds `amount` base units of the caller's tokens to the reward pool (needs an allowance). Anyone may fund.
    function fundRewards(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        // Settles accrual up to now against the old pool, so new funds never pay for time the pool was empty.
        _updateRewards(address(0));
        _rewardPoolRemaining += amount;
        token.safeTransferFrom(msg.sender, address(this), amount);
        emit RewardsFunded(msg.sender, amount);
        _assertSolvent();
    }

    /// @notice Sets the reward rate, scaled by REWARD_RATE_SCALE, from now on. Only the owner.
    function setRewardRate(uint256 newRatePerTokenPerSecond) external onlyOwner {
        if (newRatePerTokenPerSecond > REWARD_RATE_PER_TOKEN_PER_SECOND_MAX) {
            revert RewardRateTooHigh(newRatePerTokenPerSecond, REWARD_RATE_PER_TOKEN_PER_SECOND_MAX);
        }
        // Time until now accrues at the old rate.
        _updateRewards(address(0));
        emit RewardRateChanged(rewardRatePerTokenPerSecond, newRatePerTokenPerSecond);
        rewardRatePerTokenPerSecond = newRatePerTokenPerSecond;
    }

    /// @notice Rewards `account` could claim now, in base units.
    function earned(address account) external view returns (uint256) {
        (uint256 rewardPerTokenIncrease,) = _pendingAccrual();
        return _earned(account, _rewardPerTokenStored + rewardPerTokenIncrease);
    }

    /// @notice Cumulative reward per staked base unit since deployment, scaled by REWARD_RATE_SCALE.
    function rewardPerToken() external view returns (uint256) {
        (uint256 rewardPerTokenIncrease,) = _pendingAccrual();
        return _rewardPerTokenStored + rewardPerTokenIncrease;
    }

    /// @notice Funded rewards not yet accrued to anyone, in base units: what stakers can still earn.
    function rewardPoolRemaining() external view returns (uint256) {
        (, uint256 allocated) = _pendingAccrual();
        return _rewardPoolRemaining - allocated;
    }

    /// @notice Rewards accrued and not yet claimed, in base units, rounding dust included.
    function rewardsReserved() external view returns (uint256) {
        (, uint256 allocated) = _pendingAccrual();
        return _rewardsReserved + allocated;
    }

    function _updateRewards(address account) private {
        (uint256 rewardPerTokenIncrease, uint256 allocated) = _pendingAccrual();
        _rewardPerTokenStored += rewardPerTokenIncrease;
        _rewardPoolRemaining -= allocated;
        _rewardsReserved += allocated;
        _lastUpdateTimestamp = block.timestamp;
        if (account != address(0)) {
            _rewardsAccrued[account] = _earned(account, _rewardPerTokenStored);
            _rewardPerTokenPaid[account] = _rewardPerTokenStored;
        }
    }

    /**
     * @dev Accrual since the last update: the increase of the reward per token, and the base units it
     * takes from the pool. `allocated` rounds up and each account's share rounds down, so the reserve
     * always covers every claim; and `allocated` never exceeds the pool.
     */
    function _pendingAccrual() private view returns (uint256 rewardPerTokenIncrease, uint256 allocated) {
        uint256 pool = _rewardPoolRemaining;
        if (totalStaked == 0 || pool == 0) return (0, 0);
        rewardPerTokenIncrease = rewardRatePerTokenPerSecond * (block.timestamp - _lastUpdateTimestamp);
        allocated = Math.mulDiv(totalStaked, rewardPerTokenIncrease, REWARD_RATE_SCALE, Math.Rounding.Ceil);
        if (allocated > pool) {
            // The pool ran dry within this interval: what is left is shared pro rata, and accrual stops.
            rewardPerTokenIncrease = Math.mulDiv(pool, REWARD_RATE_SCALE, totalStaked);
            allocated = Math.mulDiv(totalStaked, rewardPerTokenIncrease, REWARD_RATE_SCALE, Math.Rounding.Ceil);
        }
    }

    function _earned(address account, uint256 rewardPerToken_) private view returns (uint256) {
        uint256 sinceLastUpdate = rewardPerToken_ - _rewardPerTokenPaid[account];
        return _rewardsAccrued[account] + Math.mulDiv(stakedOf[account], sinceLastUpdate, REWARD_RATE_SCALE);
    }

    /// @dev A failure here is a bug in this contract: principal or reserved rewards would be at risk.
    function _assertSolvent() private view {
        assert(token.balanceOf(address(this)) >= totalStaked + _rewardPoolRemaining + _rewardsReserved);
    }
}
