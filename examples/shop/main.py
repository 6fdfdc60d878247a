"""A small shop API of the kind people serve: FastAPI, async SQLAlchemy 2 on PostgreSQL (asyncpg),
Pydantic models; routes that read and routes that write. loadlab serves and loads it as any user's
app (docs/your-service.md):

    loadlab run --app-dir examples --app shop.main:app --locustfile examples/shop/locustfile.py

Settings from the environment (or `--env-file examples/shop/shop.env`): SHOP_DATABASE_URL, SHOP_POOL_SIZE.
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel, Field
from sqlalchemy import ForeignKey, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

DATABASE_URL = os.environ.get("SHOP_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
POOL_SIZE = int(os.environ.get("SHOP_POOL_SIZE", "10"))
SEED_ITEMS = 100


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "shop_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
    price_cents: Mapped[int]
    stock: Mapped[int]


class Order(Base):
    __tablename__ = "shop_orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("shop_items.id"))
    quantity: Mapped[int]


class ItemIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    price_cents: int = Field(ge=0)
    stock: int = Field(ge=0, default=0)


class ItemOut(ItemIn):
    id: int


class OrderIn(BaseModel):
    item_id: int
    quantity: int = Field(ge=1, le=10)


class OrderOut(OrderIn):
    id: int


engine = create_async_engine(DATABASE_URL, pool_size=POOL_SIZE, max_overflow=0)
sessions = async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with engine.begin() as conn:
        # several workers start at once: one creates the tables and the seed, the others wait for it
        await conn.execute(text("SELECT pg_advisory_xact_lock(4242)"))
        await conn.run_sync(Base.metadata.create_all)
        if not (await conn.execute(select(func.count()).select_from(Item))).scalar():
            rows = [{"name": f"item {i}", "price_cents": 100 * i, "stock": 1_000_000} for i in range(1, SEED_ITEMS + 1)]
            await conn.execute(Item.__table__.insert(), rows)
    yield
    await engine.dispose()


async def session() -> AsyncIterator[AsyncSession]:
    async with sessions() as s:
        yield s


Session = Annotated[AsyncSession, Depends(session)]
app = FastAPI(title="shop", lifespan=lifespan)


@app.get("/health")
async def health(db: Session) -> dict[str, str]:
    await db.execute(text("SELECT 1"))
    return {"status": "ok"}


@app.get("/items")
async def list_items(db: Session, limit: int = 20) -> list[ItemOut]:
    rows = await db.scalars(select(Item).order_by(Item.id).limit(min(limit, 100)))
    return [ItemOut.model_validate(row, from_attributes=True) for row in rows]


@app.get("/items/{item_id}")
async def get_item(item_id: int, db: Session) -> ItemOut:
    item = await db.get(Item, item_id)
    if item is None:
        raise HTTPException(404, f"no item {item_id}")
    return ItemOut.model_validate(item, from_attributes=True)


@app.post("/items", status_code=201)
async def create_item(body: ItemIn, db: Session) -> ItemOut:
    item = Item(**body.model_dump())
    db.add(item)
    await db.commit()
    return ItemOut.model_validate(item, from_attributes=True)


@app.post("/orders", status_code=201)
async def create_order(body: OrderIn, db: Session) -> OrderOut:
    async with db.begin():
        item = await db.get(Item, body.item_id, with_for_update=True)
        if item is None:
            raise HTTPException(404, f"no item {body.item_id}")
        if item.stock < body.quantity:
            raise HTTPException(409, f"only {item.stock} left of item {body.item_id}")
        item.stock -= body.quantity
        order = Order(item_id=body.item_id, quantity=body.quantity)
        db.add(order)
    return OrderOut(id=order.id, item_id=order.item_id, quantity=order.quantity)
