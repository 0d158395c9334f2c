"""The base model every contract shares."""

from pydantic import BaseModel, ConfigDict


class ContractModel(BaseModel):
    """A frozen contract model that refuses fields it does not know.

    Used for the records this service produces, whose shape we own.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)


class LenientContractModel(BaseModel):
    """A frozen contract model that ignores unknown fields.

    Used for records other systems produce (booking events), so a producer that adds a
    field does not see its events dead-lettered.
    """

    model_config = ConfigDict(frozen=True, extra="ignore", use_enum_values=False)
