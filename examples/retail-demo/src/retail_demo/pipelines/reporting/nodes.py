"""Per-region reports, reused for each region through namespaces."""

import pandas as pd


def filter_region(sales: pd.DataFrame, region: str) -> pd.DataFrame:
    return sales[sales["region"] == region]


def summarise_region(region_sales: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "region": [region_sales["region"].iloc[0] if len(region_sales) else ""],
            "units": [int(region_sales["units"].sum())],
            "revenue": [float(region_sales["revenue"].sum())],
            "weekend_share": [float(region_sales["weekend"].mean()) if len(region_sales) else 0.0],
        }
    )


def combine_reports(north: pd.DataFrame, south: pd.DataFrame) -> pd.DataFrame:
    report = pd.concat([north, south], ignore_index=True)
    report["revenue_share"] = report["revenue"] / report["revenue"].sum()
    return report
