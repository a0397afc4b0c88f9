from ninja import Router, Schema

from salestarget.core.api_contract import responses
from salestarget.org.permissions import scope_of

router = Router(tags=["accounts"])


class MeOut(Schema):
    username: str
    role: str
    person_id: int | None


@router.get("/me", response=responses(MeOut))
def me(request):
    scope = scope_of(request.user)
    return {"username": request.user.get_username(), "role": scope.role, "person_id": scope.person_id}
