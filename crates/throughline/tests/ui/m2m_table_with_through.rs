use throughline::prelude::*;

#[derive(Debug, Clone, Model)]
struct Tag {
    id: Option<i64>,
    name: String,
}

#[derive(Debug, Clone, Model)]
#[throughline(many_to_many(name = "tags", to = Tag, through = PostTag, table = "post_tags"))]
struct Post {
    id: Option<i64>,
    title: String,
}

#[derive(Debug, Clone, Model)]
struct PostTag {
    id: Option<i64>,
    #[throughline(related_name = "+")]
    post: ForeignKey<Post>,
    #[throughline(related_name = "+")]
    tag: ForeignKey<Tag>,
}

fn main() {}
