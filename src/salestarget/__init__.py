"""SalesTarget 销售目标管理: set, decompose, track and review sales targets."""

__version__ = "0.1.0"
